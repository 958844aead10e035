// The firm's brand (name, logo, accent colour) and the notices the page must show, from /api/config.
import { language, onLanguageChange, t } from "./i18n.js";

// Black or white text, whichever reads better on the accent colour (WCAG relative luminance).
function textOn(hex) {
  const channel = (index) => {
    const value = parseInt(hex.slice(index, index + 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) ? "#0b1220" : "#ffffff";
}

export function setupBrand(config) {
  const brand = config.brand || {};
  const notices = config.notices || {};
  const root = document.documentElement;
  if (brand.accentColor) {
    root.style.setProperty("--accent", brand.accentColor);
    root.style.setProperty("--accent-text", textOn(brand.accentColor));
    root.dataset.brandAccent = "true";
  }
  const logo = document.getElementById("brand-logo");
  const mark = document.getElementById("brand-mark");
  if (brand.logoUrl) {
    logo.src = brand.logoUrl;
    logo.hidden = false;
    mark.hidden = true;
  }
  const notice = (name, fallback) => (notices[name] && notices[name][language()]) || t(fallback);
  const render = () => {
    const name = brand.name || t("app.name");
    document.getElementById("brand-name").textContent = name;
    mark.textContent = name.trim().charAt(0).toUpperCase();
    document.title = brand.name ? t("app.title", { name }) : name;
    document.getElementById("chat-disclosure").textContent = `${notice("ai", "notice.ai")} ${notice("advice", "notice.advice")}`;
    document.getElementById("voice-disclosure").textContent = `${t("notice.voice")} ${notice("advice", "notice.advice")}`;
  };
  render();
  onLanguageChange(render);
}
