// Crowdsource: ask before destructive actions (buttons with data-confirm).
document.addEventListener("submit", function (event) {
  const button = event.submitter;
  const message = button && button.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Tables of form rows (bid milestones): "add a row" clones the last row with the next index.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-add-row]");
  if (!button) {
    return;
  }
  const body = document.querySelector("#" + button.getAttribute("data-add-row") + " tbody");
  const rows = body.querySelectorAll("tr");
  if (rows.length >= 12) {
    return;
  }
  const copy = rows[rows.length - 1].cloneNode(true);
  const next = rows.length;
  copy.querySelectorAll("input").forEach(function (input) {
    input.name = input.name.replace(/-\d+-/, "-" + next + "-");
    input.id = input.id.replace(/-\d+-/, "-" + next + "-");
    input.value = "";
    input.classList.remove("is-invalid");
  });
  copy.querySelectorAll(".invalid-feedback").forEach(function (node) {
    node.remove();
  });
  body.appendChild(copy);
});

// Copy buttons (data-copy="<id of the element whose text is copied>"): hidden in the page and
// shown only where the browser can copy, so without JavaScript the value is simply selectable.
if (navigator.clipboard && window.isSecureContext) {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
  });
}
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  const source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    const label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || label;
    window.setTimeout(function () {
      button.textContent = label;
    }, 2000);
  });
});
