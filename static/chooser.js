// Progressive enhancement: filter the bank list as the user types. Without
// JavaScript the "Search" button submits the same filter to the server.
document.addEventListener('DOMContentLoaded', () => {
  const input = document.getElementById('bank-search');
  const items = Array.from(document.querySelectorAll('.bank-list li'));
  const empty = document.getElementById('no-banks');
  if (!input) return;
  input.addEventListener('input', () => {
    const q = input.value.trim().toLowerCase();
    let shown = 0;
    for (const li of items) {
      const match = !q || (li.dataset.search || '').includes(q);
      li.hidden = !match;
      if (match) shown++;
    }
    if (empty) empty.hidden = shown !== 0;
  });
});
