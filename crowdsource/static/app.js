// Crowdsource: ask before destructive actions (buttons with data-confirm).
document.addEventListener("submit", function (event) {
  const button = event.submitter;
  const message = button && button.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
