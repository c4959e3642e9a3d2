import { render } from "preact";
import { App } from "./components/app";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  root.textContent = ""; // the <noscript> fallback
  render(<App />, root);
}
