/**
 * Just enough of a browser to walk a redirect chain with fetch: a cookie jar (per host and port, paths
 * honoured, Max-Age=0 deletes) and redirects followed by hand, so a test can stop at any hop and alter it.
 */
interface Cookie { readonly name: string, readonly value: string, readonly path: string }

export class Browserless {
  readonly #jar = new Map<string, Cookie[]>()

  cookiesFor (url: URL): Cookie[] {
    return (this.#jar.get(url.host) ?? []).filter((cookie) => url.pathname.startsWith(cookie.path))
  }

  #store (url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim())
      const name = pair.slice(0, pair.indexOf('='))
      const value = pair.slice(pair.indexOf('=') + 1)
      const attribute = (key: string): string | undefined =>
        attributes.find((part) => part.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1)
      const path = attribute('path') ?? '/'
      const expires = attribute('expires')
      const gone = attribute('max-age') === '0' || (expires !== undefined && new Date(expires).getTime() <= Date.now())
      const kept = (this.#jar.get(url.host) ?? []).filter((cookie) => cookie.name !== name || cookie.path !== path)
      this.#jar.set(url.host, gone ? kept : [...kept, { name, value, path }])
    }
  }

  /** One request, cookies sent and stored, redirects not followed. */
  async request (url: URL, init: { method?: string, form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {}
    const cookies = this.cookiesFor(url)
    if (cookies.length > 0) headers.cookie = cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ')
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded'
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'), headers, redirect: 'manual', ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    })
    this.#store(url, response)
    return response
  }

  /**
   * Follows redirects from `url` until a page that is not a redirect (returned with its URL), or until the
   * next hop satisfies `stopBefore` (that URL is returned, not requested).
   */
  async follow (url: URL, options: { stopBefore?: (next: URL) => boolean, form?: Record<string, string> } = {}): Promise<{ url: URL, response: Response | null }> {
    let current = url
    let response = await this.request(current, options.form ? { form: options.form } : {})
    for (let hops = 0; hops < 20; hops += 1) {
      const location = response.headers.get('location')
      if (response.status < 300 || response.status >= 400 || location === null) return { url: current, response }
      await response.body?.cancel()
      current = new URL(location, current)
      if (options.stopBefore?.(current)) return { url: current, response: null }
      response = await this.request(current)
    }
    throw new Error(`more than 20 redirects from ${url.href}`)
  }
}
