"""The portal: server-rendered pages for partners, reps, finance and admins, with the same
permission table and scopes as the API (accrue.domain.permissions)."""
