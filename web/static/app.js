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
    // "Chép bảng": copy the checker's report table as a table (Word and Excel keep its cells). The
    // selection + execCommand route works on plain-http intranet pages, where navigator.clipboard does not.
    document.querySelectorAll("[data-copy-table]").forEach(function (button) {
      var table = document.getElementById(button.getAttribute("data-copy-table"));
      if (!table) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var status = button.parentNode.querySelector(".copy-status");
        var range = document.createRange();
        range.selectNode(table);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        selection.removeAllRanges();
        if (status) {
          status.textContent = ok ? "Đã chép bảng: dán (Ctrl+V) vào báo cáo." : "Không chép được: hãy bôi đen bảng rồi nhấn Ctrl+C.";
        }
      });
    });
    // On a phone the table of contents and unused search options start folded: results and text first.
    if (window.matchMedia && window.matchMedia("(max-width: 860px)").matches) {
      var toc = document.querySelector(".toc details");
      if (toc) { toc.removeAttribute("open"); }
      var more = document.querySelector("details.search-more");
      if (more && !more.hasAttribute("data-used")) { more.removeAttribute("open"); }
    }
  });
})();
