// A menu button with its list (WAI-ARIA menu button pattern): arrows, Home/End, Enter/Space, Esc.
// The list sits in the flow below its button (a frame sized to its content then grows with it).
// `act(event, item)` decides whether a pick acts (the caller's gesture guard), and is given the
// event so it can refuse synthetic ones.

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

/**
 * Builds {wrap, button, list, items}: `items` are {testid, attr, value, label, disabled}; `onPick(value,
 * event, li)` runs for a pick by click or key. Closing (a pick or Esc) returns focus to the button.
 */
export function menu({ testid, label, items, onPick }) {
  const wrap = el('span', { class: 'menu-wrap' });
  const button = el('button', { type: 'button', 'data-testid': testid, 'aria-haspopup': 'menu', 'aria-expanded': 'false' }, label);
  const list = el('ul', { class: 'menu', role: 'menu', 'aria-label': label, hidden: '' });
  const lis = items.map((it) => {
    const li = el('li', { role: 'menuitem', tabindex: '-1', 'data-testid': it.testid, [it.attr]: it.value }, it.label);
    if (it.disabled) li.setAttribute('aria-disabled', 'true');
    li.addEventListener('click', (event) => {
      if (it.disabled) return;
      close(); // focus goes back to the menu's button, not to the page
      onPick(it.value, event, li);
    });
    list.append(li);
    return li;
  });
  function open(focusLast = false) {
    list.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    lis[focusLast ? lis.length - 1 : 0]?.focus();
  }
  function close(refocus = true) {
    list.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (refocus) button.focus();
  }
  button.addEventListener('click', () => (list.hidden ? open() : close()));
  button.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      open(e.key === 'ArrowUp');
    }
  });
  list.addEventListener('keydown', (e) => {
    const at = lis.indexOf(e.target);
    const move = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: lis.length - 1 }[e.key];
    if (move !== undefined) {
      e.preventDefault();
      lis[(move + lis.length) % lis.length]?.focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close();
    } else if ((e.key === 'Enter' || e.key === ' ') && at >= 0) {
      e.preventDefault();
      if (items[at].disabled) return;
      close();
      onPick(items[at].value, e, lis[at]);
    } else if (e.key === 'Tab') {
      close(false);
    }
  });
  list.addEventListener('focusout', (e) => {
    if (!wrap.contains(e.relatedTarget)) {
      list.hidden = true;
      button.setAttribute('aria-expanded', 'false');
    }
  });
  wrap.append(button, list);
  return { wrap, button, list, items: lis };
}
