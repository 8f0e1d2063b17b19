"""gunicorn's access log without secrets: tokens, keys, codes and passwords in URLs are masked.

The app refuses secrets in query strings (fieldreport.urlsecrets), but the refused request
is logged all the same, and so is a Referer holding one: the request line (`r`), the query
string (`q`) and the referer (`f`) are scrubbed before the line is written.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from fieldreport.urlsecrets import scrub


class ScrubbingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "q", "f"):
            if isinstance(atoms.get(name), str):
                atoms[name] = scrub(atoms[name])
        return atoms
