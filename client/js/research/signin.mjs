// The console's sign-in page (client/research-signin.html): the admin token is posted once and
// exchanged for an http-only session cookie; then the page the researcher came from opens.
import { $, describe } from "../dom.mjs";
import { post } from "./api.mjs";

/** Where to go after signing in: `?next=` if it is a console page, else the dashboard. */
function destination() {
  const next = new URLSearchParams(location.search).get("next") ?? "";
  return /^\/research(\/[\w\-./]*)?$/.test(next) && !next.startsWith("/research/signin") ? next : "/research";
}

const form = /** @type {HTMLFormElement} */ ($("signin-form"));
const input = /** @type {HTMLInputElement} */ ($("token"));
const problem = $("signin-error");
const button = /** @type {HTMLButtonElement} */ ($("signin-button"));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  problem.hidden = true;
  button.disabled = true;
  try {
    await post("/research/signin", { token: input.value });
    location.assign(destination());
  } catch (e) {
    problem.textContent = `Not signed in: ${describe(e)}`;
    problem.hidden = false;
    input.select();
  } finally {
    button.disabled = false;
  }
});
input.focus();
