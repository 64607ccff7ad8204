"""The invoice dashboard's web edge: cookie session, server-rendered pages, static files, action forwarding."""
