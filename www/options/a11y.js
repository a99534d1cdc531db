// The options page's accessibility upkeep that CSS alone cannot do: the fixed save bar's height
// as `--savebar`, which options.css turns into the page's scroll padding, so a field focused by
// Tab (or scrolled to) stops above the bar, whatever the bar's height (its status wraps on narrow
// windows): WCAG 2.4.11, focus not obscured.
const bar = document.querySelector('.savebar');
if (bar) {
  new ResizeObserver(() => {
    document.documentElement.style.setProperty('--savebar', `${Math.ceil(bar.getBoundingClientRect().height)}px`);
  }).observe(bar);
}
