-- A report-looking mail without trusted authentication: no body read, a reason added.
dofile(os.getenv("SM_LUA_DIR") .. "/common.lua")
local conn = connect()
local r = send_eml(conn, os.getenv("SM_FORGED"), "<autoreports@shadowserver.org>")
if r ~= SMFIR_ACCEPT and r ~= SMFIR_CONTINUE then error("forged: unexpected reply " .. tostring(r)) end
local v = mt.getheader(conn, "X-Shadowmilter-Result", 0)
assert(v ~= nil and v:find("unauthenticated", 1, true), "forged: result header " .. tostring(v))
mt.disconnect(conn)
