-- The right password for one user: every request is counted, checked and
-- given back (a store write each way), so it needs the store.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=alice&password=wonderland"
