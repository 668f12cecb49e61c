/* Optional comfort; every page works without it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    // Sort and unit apply as soon as they change (the "Áp dụng" button does it without JS).
    var form = document.querySelector(".search-form .search-options");
    if (form) {
      form.addEventListener("change", function (event) {
        var target = event.target;
        if (target.name === "sort" || target.name === "unit") {
          target.form.submit();
        }
      });
    }
    // On a phone the table of contents and unused search options start folded: results and text first.
    if (window.matchMedia && window.matchMedia("(max-width: 860px)").matches) {
      var toc = document.querySelector(".toc details");
      if (toc) { toc.removeAttribute("open"); }
      var more = document.querySelector("details.search-more");
      if (more && !more.hasAttribute("data-used")) { more.removeAttribute("open"); }
    }
  });
})();
