"""The doctor's page: static HTML, JS and CSS served by the diagnosis router."""
