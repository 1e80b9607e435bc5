-- One wrong password for one user, from one IP: the IP is locked, so
-- every request is a locked-out rejection.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=alice&password=wrong"
