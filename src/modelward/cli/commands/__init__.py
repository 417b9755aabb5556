"""One module per command family; each has ``register(app)`` and imports heavy code lazily."""
