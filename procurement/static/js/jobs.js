// A job's page follows the job: it asks the API for the job's state every second and
// updates the status, the stage and the progress bar; when the job has finished, the
// page is loaded again to show the result (report, download) or the reason it failed.
(function () {
  "use strict";
  var section = document.querySelector("[data-job-url]");
  if (!section || ["done", "failed"].indexOf(section.dataset.jobStatus) >= 0) {
    return;
  }
  function field(name) {
    return section.querySelector('[data-field="' + name + '"]');
  }
  function show(job) {
    field("status_label").textContent = job.status_label;
    field("stage_label").textContent = job.stage_label;
    var bar = field("progress");
    if (bar && job.total) {
      bar.max = job.total;
      bar.value = job.done;
      field("count").textContent = job.done + " / " + job.total;
    }
  }
  function poll() {
    fetch(section.dataset.jobUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (job && (job.status === "done" || job.status === "failed")) {
          window.location.reload();
          return;
        }
        if (job) { show(job); }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
