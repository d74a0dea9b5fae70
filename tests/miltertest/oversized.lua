-- A report over MaxReportSize passes without notices and says why.
dofile(os.getenv("SM_LUA_DIR") .. "/common.lua")
local conn = connect()
local r = send_eml(conn, os.getenv("SM_BIG"), "<autoreports@shadowserver.org>", 60000)
if r ~= SMFIR_ACCEPT and r ~= SMFIR_CONTINUE then error("oversized: unexpected reply " .. tostring(r)) end
local v = mt.getheader(conn, "X-Shadowmilter-Result", 0)
assert(v ~= nil and v:find("MaxReportSize", 1, true), "oversized: result header " .. tostring(v))
mt.disconnect(conn)
