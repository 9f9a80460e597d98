"""The web console: static HTML, CSS and JavaScript modules (no build step) served by
`hark serve` at `/`, talking to Hark only through its public HTTP API."""
