using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>Runs the agent over a transport until the client leaves.</summary>
internal static class AgentHost
{
    public static async Task RunAsync(
        IMessageTransport transport, AgentEngines engines, AgentOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var connection = new JsonRpcConnection(transport, loggers.CreateLogger("Acp.JsonRpc"));
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
