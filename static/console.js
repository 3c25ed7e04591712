// Copy buttons: <button data-copy="element-id">Copy</button>. Without JavaScript the value stays selectable.
document.addEventListener('click', async (e) => {
  const btn = e.target instanceof Element ? e.target.closest('button[data-copy]') : null;
  if (!btn) return;
  const el = document.getElementById(btn.getAttribute('data-copy'));
  if (!el) return;
  try {
    await navigator.clipboard.writeText(el.textContent || '');
    const label = btn.textContent;
    btn.textContent = 'Copied';
    setTimeout(() => { btn.textContent = label; }, 1500);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
});
// Confirmation for destructive buttons: <button data-confirm="text">.
document.addEventListener('submit', (e) => {
  const btn = e.submitter;
  const text = btn && btn.getAttribute('data-confirm');
  if (text && !window.confirm(text)) e.preventDefault();
});
