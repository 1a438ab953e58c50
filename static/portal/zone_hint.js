// A service's zone hint ("Times are local to the service: Europe/Lisbon") follows the
// zone chosen for it. Without this script the page works the same: the hint then
// shows the zone the form read the times in, after it is sent.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !/(^|-)timezone$/.test(select.name)) {
    return;
  }
  const service = select.closest("[data-service]");
  if (!service || !select.value) {
    return;
  }
  for (const hint of service.querySelectorAll("[data-zone-hint]")) {
    hint.textContent = select.value;
  }
});
