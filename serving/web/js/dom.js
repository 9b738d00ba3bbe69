// Building DOM nodes from data. Server text only ever becomes text nodes: nothing here parses
// HTML, so an answer, a passage or an error message cannot inject markup or script.

/**
 * Create an element.
 * @param {string} tag element name
 * @param {Object<string, any>} [attrs] attributes; `class`, `text`, `dataset` and `on*`
 *   handlers are special; `false`/`null`/`undefined` values are left out
 * @param {...(Node|string|null|undefined|false)} children nodes or strings (as text)
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

/**
 * Append nodes or strings (as text) to a parent.
 * @param {Node} parent
 * @param {...(Node|string|null|undefined|false)} children
 */
export function append(parent, ...children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Remove every child of `node`. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** @param {string} id @returns {HTMLElement} */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}
