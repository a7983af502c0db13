"""The reference the app is measured against: bare Flask rendering a 50-row table.

No database, no extensions, no sessions: what Flask, Jinja and gunicorn cost on their own for a
page of about the size of a dashboard. Served by `gunicorn benchmarks.bare_app:app`.

`/` renders with render_template_string, which compiles the template on every request (Jinja
caches only templates that come from a loader): that compilation is most of its cost. `/cached`
renders the same template through a loader, compiled once per process, as the app's file
templates are.
"""

from __future__ import annotations

from flask import Flask, render_template, render_template_string
from jinja2 import DictLoader

NEIGHBORHOODS = ["Fishtown", "Kensington", "Point Breeze", "Germantown", "Olney", "Mantua", "Frankford"]
STATUSES = ["invited", "in training", "certified", "deactivated"]

ROWS = [
    {
        "id": number,
        "name": f"Liaison {number:02d}",
        "email": f"liaison{number:02d}@example.org",
        "neighborhood": NEIGHBORHOODS[number % len(NEIGHBORHOODS)],
        "status": STATUSES[number % len(STATUSES)],
    }
    for number in range(1, 51)
]

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Liaisons · bare reference</title></head>
<body>
<main>
  <h1>Liaisons</h1>
  <table>
    <thead><tr><th scope="col">#</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Neighborhood</th><th scope="col">Status</th></tr></thead>
    <tbody>
    {% for row in rows %}
      <tr><td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ row.email }}</td><td>{{ row.neighborhood }}</td><td>{{ row.status }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
</main>
</body>
</html>
"""

app = Flask(__name__)
app.jinja_loader = DictLoader({"table.html": TEMPLATE})


@app.get("/")
def table() -> str:
    return render_template_string(TEMPLATE, rows=ROWS)


@app.get("/cached")
def cached_table() -> str:
    return render_template("table.html", rows=ROWS)
