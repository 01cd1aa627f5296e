"""The operators' dashboard page: its data and its offline assets."""
