/** Dark and light themes: the choice is kept in localStorage and set on <html data-theme>. */

export type Theme = "light" | "dark";

/** The saved theme, else the system's preference. */
export function initialTheme(): Theme {
  const saved = localStorage.getItem("medfusion.theme");
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/** Apply and remember `theme`. */
export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("medfusion.theme", theme);
}
