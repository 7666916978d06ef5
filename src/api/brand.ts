/**
 * The gateway's mark on its documentation pages (/docs, /redoc, their favicon), in place of the
 * libraries' own. Mid-tone colours: legible on Swagger UI's dark top bar and on Redoc's white sidebar.
 */
export const LOGO_MARK_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
<rect width="64" height="64" rx="14" fill="#2f6fec"/>
<path d="M32 12 L50 52 H41.5 L37.8 43 H26.2 L22.5 52 H14 Z M29 36 H35 L32 28.5 Z" fill="#fff"/>
</svg>`

export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 64" width="300" height="64">
<rect width="64" height="64" rx="14" fill="#2f6fec"/>
<path d="M32 12 L50 52 H41.5 L37.8 43 H26.2 L22.5 52 H14 Z M29 36 H35 L32 28.5 Z" fill="#fff"/>
<text x="80" y="43" font-family="Helvetica, Arial, sans-serif" font-size="30" font-weight="700" fill="#4f8cff">Atenex</text>
<text x="186" y="43" font-family="Helvetica, Arial, sans-serif" font-size="30" fill="#8aa4c8">API</text>
</svg>`
