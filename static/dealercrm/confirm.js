// A form with data-confirm asks before it is sent (a script file, not an inline handler, so that
// the Content Security Policy can refuse every inline script).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
