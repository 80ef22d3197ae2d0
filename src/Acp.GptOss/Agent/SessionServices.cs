using Acp.GptOss.Routing;
using Acp.Protocol;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>What every session of the agent shares.</summary>
/// <param name="Engines">The models prompts run on.</param>
/// <param name="Client">The editor: where updates go and whom tools ask.</param>
/// <param name="Options">Budgets, defaults and the date.</param>
/// <param name="Router">Chooses the model of each turn; null without a fast model, when there is nothing to choose.</param>
/// <param name="Logger">The agent's log.</param>
internal sealed record SessionServices(AgentEngines Engines, IAcpClient Client, AgentOptions Options, TurnRouter? Router, ILogger Logger);
