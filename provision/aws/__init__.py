"""The site's cloud side on AWS: the session factory and one module per resource type."""
