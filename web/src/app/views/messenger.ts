import { h, replace } from "../dom";
import type { Route } from "../router";

export async function renderMessenger(root: HTMLElement, _route: Route): Promise<void> {
  replace(root, h("div", { class: "card" }, h("h1", null, "Chats"), h("p", { class: "empty" }, "No conversations yet.")));
}

export function stopMessenger(): void {}
