/** The editor's keyboard: which command a key press means. */

export type EditorCommand = "delete" | "undo" | "redo" | "copy" | "paste" | null;

/** The command of `event`, or null; presses inside form fields are left to the field. */
export function commandOf(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "target">): EditorCommand {
  const target = event.target as HTMLElement | null;
  if (target && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return null;
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (!mod && (key === "delete" || key === "backspace")) return "delete";
  if (mod && key === "z") return event.shiftKey ? "redo" : "undo";
  if (mod && key === "y") return "redo";
  if (mod && key === "c") return "copy";
  if (mod && key === "v") return "paste";
  return null;
}
