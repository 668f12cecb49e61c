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
    // On a phone the table of contents starts folded, so that the text comes first.
    var toc = document.querySelector(".toc details");
    if (toc && window.matchMedia && window.matchMedia("(max-width: 860px)").matches) {
      toc.removeAttribute("open");
    }
  });
})();
