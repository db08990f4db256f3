// Enter in a one-line field marked data-enter-button="<id of a submit button>" submits its form
// with that button, not with the form's default (first) button. The panel picker's search box
// searches on Enter while Enter in the other fields of its form saves (calls/_panel_field.html).
// Without JavaScript, the server tells the two apart (calls.forms.PanelChoosing).
document.addEventListener("keydown", (event) => {
  const field = event.target;
  if (event.key !== "Enter" || event.isComposing || !(field instanceof HTMLInputElement)) {
    return;
  }
  const button = field.dataset.enterButton && document.getElementById(field.dataset.enterButton);
  if (!button || !field.form || button.form !== field.form) {
    return;
  }
  event.preventDefault();
  field.form.requestSubmit(button);
});
