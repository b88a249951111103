/*
 * The report page's stylesheet and its one inline script. Screen: sticky table headers, wide
 * tables and the matrix scroll inside their own box (the page never scrolls sideways). Print: A4,
 * every explanation expanded, no scroll boxes, no filter or table of contents chrome.
 */

export const CSS = `
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1.5rem 2rem;max-width:1320px;color:#1f2328;line-height:1.4}
h1{margin:0 0 .2rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}h3{margin:1.2rem 0 .4rem}
table{border-collapse:separate;border-spacing:0;font-size:13px;margin:.5rem 0;width:100%}
td,th{min-width:4.5rem;border-right:1px solid #d0d7de;border-bottom:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left;overflow-wrap:break-word}
tr>:first-child{border-left:1px solid #d0d7de}thead th{border-top:1px solid #d0d7de}
th{background:#f6f8fa}.scroll thead th{position:sticky;top:0;z-index:2}
.scroll{max-height:70vh;overflow:auto;border:1px solid #d0d7de;border-radius:4px;margin:.5rem 0}
.scroll table{margin:0}
.pass{color:#1a7f37}.fail{color:#cf222e}
.allowed{background:#dafbe1}.unexpected{background:#ffebe9;font-weight:bold}.pending{background:#eaeef2;color:#57606a}.broken{background:#ffebe9}
.never{background:#fff8c5}.impossible{color:#57606a;font-style:italic}
.cards{display:flex;gap:.8rem;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.35rem}code{font-size:12px;background:#f6f8fa;padding:0 3px;overflow-wrap:break-word}
details{margin:.2rem 0}summary{cursor:pointer}
.matrix{width:auto;font-size:11px}.matrix th{min-width:0}.matrix td{text-align:center;min-width:2.6rem;white-space:nowrap}.matrix td a{color:inherit;text-decoration:none;display:block}
.matrix th.row{text-align:right;position:sticky;left:0;z-index:1;white-space:nowrap}.matrix thead th{white-space:nowrap;writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;vertical-align:bottom;padding:6px 2px}
.matrix thead th.corner{writing-mode:horizontal-tb;transform:none;left:0;z-index:3}
nav.toc{columns:3;font-size:14px;border:1px solid #d0d7de;border-radius:6px;padding:.4rem 1rem;margin:1rem 0}nav.toc a{display:block}
.filter{position:sticky;top:0;background:#fff;padding:.4rem 0;z-index:5;border-bottom:1px solid #d0d7de}
.filter input{width:28rem;max-width:100%;font-size:14px;padding:4px 8px}
.placeholder{border:1px dashed #8c959f;padding:1rem;color:#57606a}
.graph svg{max-width:100%;height:auto}.graph figure{margin:0 0 1rem}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.6rem;border-radius:4px;font-size:12px}
.hidden{display:none}.nowrap{white-space:nowrap}
tr.weak>td{border-top:none;padding-left:1.5rem;font-size:12px}tr.weak summary{color:#57606a}
:target{outline:2px solid #0969da;outline-offset:2px}[id]{scroll-margin-top:4rem}.pair td:first-child,.pair td:nth-child(2){white-space:nowrap}
@media print{
  @page{size:A4;margin:12mm 10mm}
  body{max-width:none;padding:0;font-size:10px}
  table{font-size:8.5px}code{font-size:8.5px}
  .scroll{max-height:none;overflow:visible;border:none}
  .scroll thead th,.matrix th.row{position:static}
  .filter,nav.toc{display:none}
  details::details-content{content-visibility:visible;display:block}
  details>summary{list-style:none;font-weight:bold}
  tr,figure,.pair{break-inside:avoid}
  h2{break-after:avoid}
  .matrix{font-size:6.5px}.matrix td{min-width:0;padding:1px;white-space:normal}.matrix th{padding:1px}
  .graph svg{width:100%}
  td,th{min-width:0}
  a{color:inherit;text-decoration:none}
}
`;

/** Filters rows and explanations by the text typed; opens the explanation a link points at, and every one before printing. */
export const SCRIPT = `
(function(){
  var box=document.getElementById('filter-box');
  var items=function(){return document.querySelectorAll('[data-filter]');};
  box.addEventListener('input',function(){
    var q=box.value.toLowerCase().trim();
    items().forEach(function(el){el.classList.toggle('hidden',q!==''&&el.textContent.toLowerCase().indexOf(q)<0);});
  });
  var openTarget=function(){var t=location.hash&&document.getElementById(location.hash.slice(1));if(t&&t.tagName==='DETAILS'){t.open=true;t.scrollIntoView();}};
  window.addEventListener('hashchange',openTarget);openTarget();
  window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.open=true;});});
})();
`;
