"use strict";
// Starts ReDoc on /api/redoc/ under the site's CSP. Loaded before ReDoc's bundle:
// the bundle writes <style> elements as soon as it loads, and the CSP accepts them
// only with this response's nonce (style-src), which the browser exposes on this
// script's own tag. The page runs no script but this one and ReDoc's.
(function () {
  const nonce = document.currentScript.nonce;

  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function (tagName, options) {
    const element = createElement.call(this, tagName, options);
    if (String(tagName).toLowerCase() === "style") {
      element.nonce = nonce;
    }
    return element;
  };

  // ReDoc's side menu shows a logo fetched from Redocly's CDN. The CSP would block it
  // (the shop's pages make no third-party requests), so any image from another site
  // gets an empty one instead, and ReDoc hides a logo that does not load.
  const offSite = (url) => new URL(String(url), document.baseURI).origin !== location.origin;
  const setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    const keep = String(name).toLowerCase() !== "src" || !offSite(value);
    return setAttribute.call(this, name, keep ? value : "data:,");
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set(value) {
      src.set.call(this, offSite(value) ? "data:," : value);
    },
  });

  document.addEventListener("DOMContentLoaded", function () {
    const container = document.getElementById("redoc-container");
    Redoc.init(container.dataset.specUrl, { nonce: nonce }, container);
  });
})();
