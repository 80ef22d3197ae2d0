using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>Runs the agent on a JSON-RPC peer until the client leaves; disposes the peer.</summary>
internal static class AgentHost
{
    public static async Task RunAsync(
        JsonRpcPeer connection, AgentEngines engines, AgentOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await using (connection.ConfigureAwait(false))
        {
            var acp = new AcpAgentConnection(connection);
            var agent = new GptOssAgent(engines, acp, options, loggers);
            await using (agent.ConfigureAwait(false))
            {
                acp.Serve(agent);
                await connection.RunAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
