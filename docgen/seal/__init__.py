"""The seal: a signed QR code on each certificate, `docgen verify`, and a verification page."""
