"""The API's views: parse the JSON, call the domain (``request.services``),
answer JSON shaped as the OpenAPI document says (api_app/render.py)."""
