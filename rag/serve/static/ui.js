() => {
  // Run once on page load (rag/serve/app.py passes this to Gradio as js=): [n] links open and scroll to their
  // source (waiting briefly while the panel switches to another answer); copy buttons put their text (an answer,
  // a memo citation) on the clipboard, with a fallback for plain-http pages.
  function openSource(id, tries) {
    const el = document.getElementById(id);
    if (!el) { if (tries > 0) setTimeout(() => openSource(id, tries - 1), 100); return; }
    el.open = true;
    el.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    el.classList.add('rag-flash');
    setTimeout(() => el.classList.remove('rag-flash'), 1200);
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const ta = document.createElement('textarea');
    ta.value = text; ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    try { document.execCommand('copy'); } finally { ta.remove(); }
    return Promise.resolve();
  }
  // Gradio titles its toasts with their English type ("Warning", "Error", "Info"), whatever title the server
  // gives; the page is Chinese, so the titles are put into Chinese as they appear.
  const TOAST_TITLES = {Warning: '提示', Error: '错误', Info: '提示', Success: '完成'};
  function chineseToasts(root) {
    root.querySelectorAll('.toast-title').forEach((el) => {
      el.childNodes.forEach((n) => {
        const word = n.nodeType === Node.TEXT_NODE ? n.textContent.trim() : '';
        if (TOAST_TITLES[word]) n.textContent = n.textContent.replace(word, TOAST_TITLES[word]);
      });
    });
  }
  new MutationObserver(() => chineseToasts(document)).observe(document.body, {childList: true, subtree: true, characterData: true});
  document.addEventListener('click', (ev) => {
    const cite = ev.target.closest && ev.target.closest('a.rag-cite');
    if (cite) {
      ev.preventDefault();
      openSource((cite.getAttribute('href') || '').replace(/^#/, ''), 30);
      return;
    }
    const btn = ev.target.closest && ev.target.closest('button.rag-copy');
    if (btn) {
      ev.preventDefault();
      ev.stopPropagation();
      const label = btn.dataset.label || (btn.dataset.label = btn.textContent);
      copyText(btn.dataset.copy || '').then(() => {
        btn.textContent = '已复制'; btn.classList.add('rag-copied');
        setTimeout(() => { btn.textContent = label; btn.classList.remove('rag-copied'); }, 1500);
      }, () => { btn.textContent = '复制失败'; });
    }
  }, true);
}
