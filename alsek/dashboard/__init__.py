"""The web dashboard (the optional ``alsek[dashboard]`` extra: Starlette and uvicorn).

``alsek dashboard --port 8080`` serves one page: queues with their counts, live workers, dead
letters (inspect, requeue, purge), message lookup and revoke. Nothing here is imported by the
rest of alsek: the web libraries are needed only to run it.
"""
