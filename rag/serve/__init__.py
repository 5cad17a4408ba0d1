"""``rag serve``: the chat UI (Gradio) and the HTTP JSON API, served together.

- :mod:`rag.serve.app` — ``build_app`` (one FastAPI app: /api and the UI at "/"), ``prepare``, ``serve``.
- :mod:`rag.serve.api` — the /api routes and error replies; :mod:`rag.serve.models` — their pydantic
  request/response models and the ``{"error", "field"}`` shape; :mod:`rag.serve.docs` — the OpenAPI
  schema and the offline Swagger UI at /api/docs.
- :mod:`rag.serve.gradio_api` — the Gradio API's named endpoints (/ask, /search, /health) for gradio_client.
- :mod:`rag.serve.ui` — the Gradio Blocks.
- :mod:`rag.serve.html` — HTML for answers, sources and the retrieval view (pure functions).
- ``static/ui.css``, ``static/ui.js`` — the page's styling and behaviour (package data).

Importing this package (or :mod:`rag.serve.html`) is cheap: Gradio and FastAPI load with ``app``, ``api`` and ``ui``.
"""
