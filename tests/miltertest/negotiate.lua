-- An MTA offering only "add headers" (1) is refused at negotiation:
-- the filter closes the connection instead of running without what it needs.
local conn = mt.connect(os.getenv("SM_SOCKET"), 20, 0.25)
assert(conn ~= nil, "cannot connect")
local err = mt.negotiate(conn, 6, 1, 0)
if err == nil then
	err = mt.conninfo(conn, "localhost", "127.0.0.1")
end
assert(err ~= nil, "a filter without the actions it needs went on talking")
