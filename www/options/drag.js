// Reordering the provider list by drag and drop, started from a card's handle only (the arrows and
// Alt+↑/↓ do the same from the keyboard). `indexOf(id)` gives a provider's position; `move(from,
// to)` moves it (and redraws, announces, checks).
export function wireDrag(list, { indexOf, move }) {
  let dragId = null;
  list.addEventListener('pointerdown', (e) => {
    const handle = e.target.closest('.handle');
    if (handle && !handle.disabled) handle.closest('.provider').draggable = true;
  });
  list.addEventListener('dragstart', (e) => {
    const li = e.target.closest?.('.provider');
    if (!li?.draggable) return e.preventDefault();
    dragId = li.dataset.id;
    li.classList.add('dragging');
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', dragId);
  });
  const target = (e) => {
    const li = e.target.closest?.('.provider');
    if (!li || !dragId || li.dataset.id === dragId || li.dataset.locked === 'true') return null;
    const r = li.getBoundingClientRect();
    return { li, after: e.clientY > r.top + r.height / 2 };
  };
  const clearMarks = () => list.querySelectorAll('.drop-before, .drop-after').forEach((el) => el.classList.remove('drop-before', 'drop-after'));
  list.addEventListener('dragover', (e) => {
    const t = target(e);
    clearMarks();
    if (!t) return;
    e.preventDefault();
    t.li.classList.add(t.after ? 'drop-after' : 'drop-before');
  });
  list.addEventListener('drop', (e) => {
    const t = target(e);
    clearMarks();
    if (!t) return;
    e.preventDefault();
    const from = indexOf(dragId);
    let to = indexOf(t.li.dataset.id) + (t.after ? 1 : 0);
    if (from < to) to -= 1;
    move(from, to);
  });
  list.addEventListener('dragend', () => {
    clearMarks();
    for (const li of list.querySelectorAll('.provider')) {
      li.draggable = false;
      li.classList.remove('dragging');
    }
    dragId = null;
  });
}
