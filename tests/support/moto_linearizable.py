"""moto's own server (moto.server.main, same flags as `moto_server`), with request handling
serialized by one lock.

moto's werkzeug server is threaded and its DynamoDB backend evaluates a condition and applies the
write without a lock, so two concurrent conditional writes can both succeed: two compare-and-sets
on the same version both "applied" in our contract suite. Real DynamoDB never does that, and
every guarantee of this project rests on it, so the tests serialize requests (DynamoDB is
linearizable per item; one lock is stricter and still correct).
"""
import threading

import moto.server as server

_lock = threading.Lock()
_dispatch = server.DomainDispatcherApplication.__call__


def _serialized(self, environ, start_response):
    with _lock:
        # Materialize the body under the lock, so no backend work escapes it.
        return list(_dispatch(self, environ, start_response))


server.DomainDispatcherApplication.__call__ = _serialized

if __name__ == "__main__":
    server.main()
