using System.CommandLine;
using System.Text;
using Acp.GptOss.Agent;
using Acp.GptOss.Completions;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Harmony.Conversations;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary>
/// <c>acp-gptoss infer "PROMPT"</c>: one completion from the command line, with the model options the agent takes.
/// The answer streams to stdout; the reasoning goes to stderr, and only with <c>--show-reasoning</c>.
/// </summary>
internal static class InferCommand
{
    public static Command Create(StdioStreams streams, Func<ILoggerFactory> loggers)
    {
        var prompt = new Argument<string>("PROMPT") { Description = "What to ask; - reads it from stdin." };
        var showReasoning = new Option<bool>("--show-reasoning") { Description = "Write the model's reasoning to stderr as it comes." };
        var effort = new Option<string>("--reasoning-effort")
        {
            Description = $"How much the model reasons first: {ReasoningEfforts.Names}.",
            DefaultValueFactory = _ => "medium",
        };
        var instructions = new Option<string?>("--instructions")
        {
            Description = "Instructions for the model (Harmony's developer message: what OpenAI's API calls the system message).",
        };

        var command = new Command("infer", "Run one completion: the answer streams to stdout, exit 0. Takes the agent's model options.");
        command.Arguments.Add(prompt);
        command.Options.Add(showReasoning);
        command.Options.Add(effort);
        command.Options.Add(instructions);
        var agent = new AgentCommandLine();
        agent.AddEngineOptionsTo(command);
        command.Options.Add(agent.ContextSize);
        command.Options.Add(agent.MaxTokens);
        command.Options.Add(agent.TokenDelayMs);
        command.SetAction(async (result, cancellationToken) =>
        {
            if (!ReasoningEfforts.TryParse(result.GetValue(effort), out ReasoningEffort reasoningEffort))
            {
                return await FailAsync(streams, ExitCodes.UsageError, $"--reasoning-effort takes {ReasoningEfforts.Names}.").ConfigureAwait(false);
            }

            int maxTokens = result.GetValue(agent.MaxTokens);
            if (maxTokens < 1)
            {
                return await FailAsync(streams, ExitCodes.UsageError, "--max-tokens must be at least 1.").ConfigureAwait(false);
            }

            string text = result.GetValue(prompt)!;
            if (text == "-")
            {
                using var reader = new StreamReader(streams.Input, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true);
                text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                return await FailAsync(streams, ExitCodes.UsageError, "the prompt is empty.").ConfigureAwait(false);
            }

            AgentEngines? engines = agent.CreateEngines(result, loggers(), out string? error);
            if (engines is null)
            {
                return await FailAsync(streams, ExitCodes.UsageError, error!).ConfigureAwait(false);
            }

            try
            {
                var conversation = new HarmonyConversation(
                    new HarmonySystemContent { ReasoningEffort = reasoningEffort, CurrentDate = new AgentOptions().Today() },
                    result.GetValue(instructions) is { Length: > 0 } given ? new HarmonyDeveloperContent(given) : null,
                    [HarmonyMessage.User(text)]);
                return await RunAsync(engines.GptOss, conversation, new CompletionOptions { MaxTokens = maxTokens }, streams, result.GetValue(showReasoning), cancellationToken)
                    .ConfigureAwait(false);
            }
            finally
            {
                await engines.GptOss.DisposeAsync().ConfigureAwait(false);
                if (engines.Fast is not null)
                {
                    await engines.Fast.DisposeAsync().ConfigureAwait(false);
                }
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(
        IInferenceEngine engine, HarmonyConversation conversation, CompletionOptions options, StdioStreams streams, bool showReasoning, CancellationToken cancellationToken)
    {
        IInferenceSession session;
        try
        {
            session = await engine.CreateSessionAsync("infer", cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            return await FailAsync(streams, ExitCodes.ModelError, e.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }

        await using (session.ConfigureAwait(false))
        {
            var output = new AnswerWriter(streams, showReasoning);
            CompletionEnded? end = null;
            try
            {
                await foreach (CompletionEvent e in CompletionRunner.StreamChatAsync(session, conversation, options, cancellationToken).ConfigureAwait(false))
                {
                    switch (e)
                    {
                        case ContentDelta content:
                            await output.ContentAsync(content.Text).ConfigureAwait(false);
                            break;
                        case ReasoningDelta reasoning:
                            await output.ReasoningAsync(reasoning.Text).ConfigureAwait(false);
                            break;
                        case ToolCallDelta call:
                            await output.NoteAsync($"The model called {call.Name} with {call.Arguments}; infer offers no tools, so the answer ends here.")
                                .ConfigureAwait(false);
                            break;
                        case CompletionEnded ended:
                            end = ended;
                            break;
                    }
                }
            }
            catch (InferenceException e)
            {
                await output.EndAsync().ConfigureAwait(false);
                return await FailAsync(streams, ExitCodes.ModelError, e.Message).ConfigureAwait(false);
            }
            catch (PromptTooLongException e)
            {
                return await FailAsync(streams, ExitCodes.InputError, e.Message).ConfigureAwait(false);
            }

            await output.EndAsync().ConfigureAwait(false);
            switch (end?.FinishReason)
            {
                case CompletionFinishReason.Cancelled:
                    return ExitCodes.Interrupted;
                case CompletionFinishReason.Length:
                    await output.NoteAsync($"The answer was cut off after {end.Usage.CompletionTokens} tokens: --max-tokens, or the context (--ctx-size) ran out.")
                        .ConfigureAwait(false);
                    break;
            }

            return ExitCodes.Success;
        }
    }

    private static async Task<int> FailAsync(StdioStreams streams, int exitCode, string message)
    {
        await streams.Error.WriteLineAsync($"acp-gptoss infer: {message}").ConfigureAwait(false);
        return exitCode;
    }

    /// <summary>The answer on stdout and the reasoning on stderr, each flushed as it comes; each ends its line.</summary>
    private sealed class AnswerWriter(StdioStreams streams, bool showReasoning)
    {
        private char _lastContent = '\n';
        private char _lastReasoning = '\n';

        public async Task ContentAsync(string text)
        {
            await EndReasoningAsync().ConfigureAwait(false);
            await streams.Output.WriteAsync(Encoding.UTF8.GetBytes(text)).ConfigureAwait(false);
            await streams.Output.FlushAsync().ConfigureAwait(false);
            _lastContent = text[^1];
        }

        public async Task ReasoningAsync(string text)
        {
            if (showReasoning)
            {
                await streams.Error.WriteAsync(text).ConfigureAwait(false);
                await streams.Error.FlushAsync().ConfigureAwait(false);
                _lastReasoning = text[^1];
            }
        }

        public async Task NoteAsync(string text)
        {
            await EndAsync().ConfigureAwait(false);
            await streams.Error.WriteLineAsync(text).ConfigureAwait(false);
        }

        public async Task EndAsync()
        {
            await EndReasoningAsync().ConfigureAwait(false);
            if (_lastContent != '\n')
            {
                await streams.Output.WriteAsync("\n"u8.ToArray()).ConfigureAwait(false);
                await streams.Output.FlushAsync().ConfigureAwait(false);
                _lastContent = '\n';
            }
        }

        private async Task EndReasoningAsync()
        {
            if (_lastReasoning != '\n')
            {
                await streams.Error.WriteLineAsync().ConfigureAwait(false);
                _lastReasoning = '\n';
            }
        }
    }
}
