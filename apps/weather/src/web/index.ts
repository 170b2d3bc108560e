export { type BuiltPage, buildPage, type PageAsset } from './build-page.js';
export { createPageSessions, type PageSessions, SESSION_COOKIE, sameOrigin } from './page-session.js';
export { PAGE_CSP, type PageRoutesOptions, pageRoutes } from './serve-page.js';
export { webPage } from './web-page.js';
