"""The API page (``GET /docs``, also ``/``): Swagger UI on ``/docs.json``, from the files
BentoML serves under ``/static_content``, without BentoML's page furniture (its title,
tag-manager script and repository link: nothing leaves the machine to show it)."""

from __future__ import annotations

PAGE_PATHS = frozenset({"/", "/docs"})
HTML = "text/html; charset=utf-8"
PAGE = b"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>cintel customer intelligence API</title>
    <link rel="stylesheet" type="text/css" href="./static_content/swagger-ui.css">
    <link rel="icon" type="image/png" href="./static_content/favicon-light-32x32.png">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="./static_content/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="./static_content/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"""
