using System.Text.Json;
using Acp.GptOss.Agent.Commands;
using Acp.GptOss.Inference;
using Acp.GptOss.Routing;
using Acp.GptOss.Sessions;
using Acp.GptOss.Tools;
using Acp.Protocol;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>
/// One ACP session, the owner of its prompt turns: its root, settings, conversation history and engine state. For
/// each prompt it adds the user's message to the history, decides the route (GPT-OSS or the fast model), and runs
/// one turn (<see cref="GptOssTurn"/> or <see cref="FastTurn"/>), one turn at a time: a newer prompt cancels the
/// running turn first; a cancel applies to every turn that arrived before it.
/// </summary>
/// <remarks>Thread-safe. Turns run one at a time, so the history is only touched by the running turn.</remarks>
internal sealed partial class AgentSession : IAsyncDisposable
{
    private static readonly TimeSpan s_turnEndTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _closing = new();
    private Task<IInferenceSession> _inference;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _turns = new(1, 1);
    private readonly ConversationHistory _history = new();
    private readonly SessionServices _services;
    private readonly StoredSession? _stored;
    private SessionSettings _settings;
    private Task _stateSaved = Task.CompletedTask;
    private CancellationTokenSource? _turn;
    private Task<IChatSession>? _fast;
    private bool _escalated;
    private long _turnSequence;
    private long _cancelBefore;
    private int _messageCount;
    private int _toolCallCount;
    private string? _title;
    private RouteMeta? _lastRoute;

    /// <param name="id">The session's id.</param>
    /// <param name="cwd">Its working directory.</param>
    /// <param name="tools">The functions the model may call, and where they act.</param>
    /// <param name="services">What every session of the agent shares.</param>
    /// <param name="stored">Where its conversation is stored; null when sessions are not stored.</param>
    public AgentSession(string id, string cwd, SessionTools tools, SessionServices services, StoredSession? stored = null)
    {
        Id = id;
        Cwd = cwd;
        Tools = tools;
        _services = services;
        _stored = stored;
        _settings = services.Options.DefaultSettings with { HasFastModel = services.Engines.Fast is not null };
        // The engine state (a llama context) is made in the background from now on, while the user writes the first
        // prompt; it may wait for the model to load, which must not hold up session/new (nor a restore, load).
        IInferenceEngine engine = services.Engines.GptOss;
        CancellationToken closing = _closing.Token;
        _inference = Task.Run(() => CreateInferenceAsync(engine, stored?.StatePath, closing));
    }

    public string Id { get; }

    public string Cwd { get; }

    /// <summary>
    /// Continues a stored session: its conversation, settings, title and ids as the journal has them. Called once,
    /// before the session is offered to the client.
    /// </summary>
    public void Restore(SessionSnapshot snapshot)
    {
        _history.Restore(snapshot.History, snapshot.CompactedTurns, snapshot.CompactedFirstRequest);
        foreach (JournalRecord change in snapshot.ConfigChanges)
        {
            try
            {
                Update(s => change.ConfigId == SessionSettings.ModeId && change.ValueType == JournalKinds.ModeType
                    ? s.WithMode(change.Value!.Value.GetString() ?? "")
                    : s.With(change.ConfigId!, change.Value!.Value, change.ValueType));
            }
            catch (Acp.Protocol.JsonRpc.JsonRpcException e)
            {
                // An option this version no longer has, or a value it no longer takes: the default stays.
                LogStoredSettingSkipped(_services.Logger, Id, change.ConfigId!, e.Message);
            }
        }

        _title = snapshot.Title;
        _messageCount = snapshot.MessageCount;
        _toolCallCount = snapshot.ToolCallCount;
    }

    /// <summary>
    /// Sends the stored conversation as the client saw it (<c>session/load</c>): the user's messages, the answers, the
    /// tool calls with their updates; thoughts only when the reasoning display shows them now. Never the raw
    /// reasoning the model reads.
    /// </summary>
    public void Replay(SessionSnapshot snapshot)
    {
        bool thoughts = Settings.ReasoningDisplay != ReasoningDisplay.Hidden;
        foreach (JournalRecord record in snapshot.Shown)
        {
            if (record.Kind == JournalKinds.User && record.Prompt is { } prompt)
            {
                foreach (ContentBlock block in prompt.Deserialize(AcpJsonContext.Default.IReadOnlyListContentBlock) ?? [])
                {
                    Send(new UserMessageChunk(block));
                }
            }
            else if (record.Update?.Deserialize(AcpJsonContext.Default.SessionUpdate) is { } update && (thoughts || update is not AgentThoughtChunk))
            {
                Send(update);
            }
        }

        if (_title is not null)
        {
            Send(new SessionInfoUpdate { Title = _title, UpdatedAt = snapshot.UpdatedAt?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) });
        }
    }

    /// <summary>Notes that the session was reopened in <paramref name="cwd"/> with these roots (load or resume).</summary>
    public void RecordOpened(string cwd, IReadOnlyList<string>? additionalDirectories) => _stored?.RecordOpened(cwd, additionalDirectories);

    /// <summary>The functions the model may call, and where they act.</summary>
    public SessionTools Tools { get; }

    /// <summary>What the client said it can do at initialize: which session updates it takes (compaction, say).</summary>
    public ClientCapabilities? ClientCapabilities { get; init; }

    /// <summary>What the context holds, for the editor's meter, <c>/status</c> and the prompt response.</summary>
    public ContextMeter Meter { get; } = new();

    /// <summary>Where the last turn went, and why; null before any.</summary>
    public RouteMeta? LastRoute => Volatile.Read(ref _lastRoute);

    /// <summary>The context's size, once the session's engine state is made; null before.</summary>
    public int? KnownContextSize => _inference.IsCompletedSuccessfully ? _inference.Result.ContextSize : null;

    /// <summary>Tells the client the commands this session runs itself (<c>available_commands_update</c>).</summary>
    public void AdvertiseCommands() => Send(new AvailableCommandsUpdate(SlashCommands.For(Settings, _services.Engines.Puller is not null)));

    /// <summary>The user's "always" answers to permission requests.</summary>
    public PermissionMemory Permissions { get; } = new();

    /// <summary>The engine state of this conversation, once made.</summary>
    /// <exception cref="InferenceException">The engine cannot run: no model, or it failed to load.</exception>
    public async ValueTask<IInferenceSession> GetInferenceAsync(CancellationToken cancellationToken)
    {
        Task<IInferenceSession> inference;
        lock (_gate)
        {
            if (_inference is { IsFaulted: true, Exception.InnerException: ModelNotDownloadedException })
            {
                // The model may have been downloaded since (docs/models.md §9): the engine is asked again.
                IInferenceEngine engine = _services.Engines.GptOss;
                CancellationToken closing = _closing.Token;
                _inference = Task.Run(() => CreateInferenceAsync(engine, _stored?.StatePath, closing));
            }

            inference = _inference;
        }

        return await inference.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The fast model's state of this conversation, made by the first turn routed to it.</summary>
    /// <exception cref="InferenceException">The fast model cannot load.</exception>
    public async ValueTask<IChatSession> GetFastAsync(IChatEngine engine, CancellationToken cancellationToken)
    {
        Task<IChatSession> fast;
        lock (_gate)
        {
            fast = _fast ??= Task.Run(() => engine.CreateSessionAsync(Id, _closing.Token).AsTask());
        }

        try
        {
            return await fast.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException)
        {
            // The next turn tries again: the file may have been fixed.
            lock (_gate)
            {
                if (_fast == fast)
                {
                    _fast = null;
                }
            }

            throw;
        }
    }

    public SessionSettings Settings
    {
        get
        {
            lock (_gate)
            {
                return _settings;
            }
        }
    }

    /// <summary>Changes one config option (<c>session/set_config_option</c>); returns the settings now in force.</summary>
    /// <exception cref="Acp.Protocol.JsonRpc.JsonRpcException">-32602 for an unknown option or a value it does not take.</exception>
    public SessionSettings SetConfigOption(string configId, JsonElement value, string? type)
    {
        SessionSettings settings = Update(s => s.With(configId, value, type));
        if (configId == SessionSettings.ModelId)
        {
            // The user chose: the router starts afresh from here, escalating again only when a request asks for it.
            Volatile.Write(ref _escalated, false);
        }

        if (configId == SessionSettings.ModeId)
        {
            // Modes and the mode option are one setting: a client that follows modes hears of the change too.
            Send(new CurrentModeUpdate(settings.ModeValue));
        }

        _stored?.RecordSetting(configId, value, type);
        LogConfigChanged(_services.Logger, Id, configId, value);
        return settings;
    }

    /// <summary>Changes the mode (<c>session/set_mode</c>); returns the settings now in force.</summary>
    /// <exception cref="Acp.Protocol.JsonRpc.JsonRpcException">-32602 for a mode this agent does not have.</exception>
    public SessionSettings SetMode(string modeId)
    {
        SessionSettings settings = Update(s => s.WithMode(modeId));
        // ...and a client that follows config options hears of it as a change of the mode option.
        Send(new ConfigOptionUpdate(settings.ToConfigOptions()));
        _stored?.RecordSetting(SessionSettings.ModeId, JsonSerializer.SerializeToElement(modeId, AcpJsonContext.Default.String), JournalKinds.ModeType);
        LogModeChanged(_services.Logger, Id, settings.ModeValue);
        return settings;
    }

    private SessionSettings Update(Func<SessionSettings, SessionSettings> change)
    {
        lock (_gate)
        {
            return _settings = change(_settings);
        }
    }

    /// <summary>
    /// Answers the prompt that arrived as message <paramref name="sequence"/>: the user's message joins the history,
    /// the route is decided, and one turn runs on the model chosen. The response says how the turn ended and, in
    /// <c>_meta</c>, where it went and why.
    /// </summary>
    /// <param name="text">The user's message, as the model reads it (<see cref="PromptText"/>).</param>
    /// <param name="prompt">The prompt's content blocks.</param>
    /// <param name="sequence">The prompt's place among the connection's messages, for cancels.</param>
    /// <param name="requestCancellation"><c>$/cancel_request</c> or the client leaving.</param>
    /// <exception cref="InferenceException">A model cannot run: none, or it failed to load.</exception>
    public async Task<PromptResponse> PromptAsync(string text, IReadOnlyList<ContentBlock> prompt, long sequence, CancellationToken requestCancellation)
    {
        if (SlashCommandLine.TryParse(prompt) is { } command)
        {
            // A command is a turn too (one at a time, cancellable), but the agent's own: no model call, no history.
            StopReason ran = await RunTurnAsync(
                sequence, ct => new CommandTurn(this, _history, _services, _stored).RunAsync(command, ct), requestCancellation).ConfigureAwait(false);
            LogTurnEnded(_services.Logger, Id, ran);
            return new PromptResponse(ran);
        }

        TurnRoute? route = null;
        PromptUsage? usage = null;
        GptOssTurn? gptOss = null;
        StopReason stop = await RunTurnAsync(
            sequence,
            async ct =>
            {
                int historyStart = _history.Messages.Count;
                int rewrites = _history.Rewrites;
                var recorder = _stored is null ? null : new TurnRecorder(_services.Client);
                Meter.BeginTurn();
                StopReason? ended = null;
                try
                {
                    ended = await TurnAsync(recorder ?? _services.Client, ct).ConfigureAwait(false);
                    return ended.Value;
                }
                finally
                {
                    usage = Meter.Turn;

                    // Inside the turn, so the next one waits: the history is this turn's alone until it is written.
                    if (_stored is not null)
                    {
                        _stored.RecordTurn(Entry(text, prompt, _history.Rewrites == rewrites ? historyStart : null, recorder!, route, ended));

                        // Made durable and saved after the response, off the user's path; the next turn waits for both.
                        Task synced = _stored.SyncAsync();
                        _stateSaved = gptOss is null ? synced : Task.WhenAll(synced, SaveStateAsync(gptOss, _stored));
                    }
                }
            },
            requestCancellation).ConfigureAwait(false);

        LogTurnEnded(_services.Logger, Id, stop);
        if (route is not null)
        {
            Volatile.Write(ref _lastRoute, route.Meta);
        }

        return new PromptResponse(stop) { Meta = route is null ? null : RouteMetaJson(route.Meta, usage) };

        async Task<StopReason> TurnAsync(IAcpClient client, CancellationToken ct)
        {
            // The user's message stays in the history even if the turn is cancelled before a model runs.
            _history.AddUserPrompt(text);
            SendTitle(text);
            TurnRoute chosen;
            try
            {
                // The engine takes one thing at a time: the last turn's state may still be being saved.
                await _stateSaved.WaitAsync(ct).ConfigureAwait(false);

                // Decided inside the turn: the turn before may have escalated the session.
                chosen = await RouteAsync(text, prompt, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return StopReason.Cancelled;
            }

            route = chosen;
            if (chosen.Model == ModelRole.Fast && _services.Engines.Fast is { } fast)
            {
                return await new FastTurn(this, _history, fast, client, _services.Options, _services.Logger).RunAsync(ct).ConfigureAwait(false);
            }

            gptOss = new GptOssTurn(this, _history, client, _services.Options, _services.Logger);
            return await gptOss.RunAsync(ct).ConfigureAwait(false);
        }
    }

    // The first request names the session, once; the title is stored with the turn.
    private void SendTitle(string text)
    {
        if (_stored is null || _title is not null || SessionTitle.From(text) is not { } title)
        {
            return;
        }

        _title = title;
        _stored.RecordTitle(title);
        Send(new SessionInfoUpdate { Title = title });
    }

    // A turn that failed (the model could not run) has no stop reason. historyStart is null when the turn rewrote
    // earlier messages (a compaction): then the whole history is written.
    private TurnEntry Entry(string text, IReadOnlyList<ContentBlock> prompt, int? historyStart, TurnRecorder shown, TurnRoute? route, StopReason? stop) =>
        new(text, prompt, shown, _history.Messages.Skip(historyStart ?? 0), stop)
        {
            Compacted = historyStart is null ? (_history.CompactedTurns, _history.CompactedFirstRequest) : null,
            Route = route is null ? null : JsonSerializer.SerializeToElement(route.Meta, RoutingJsonContext.Default.RouteMeta),
            MessageCount = Volatile.Read(ref _messageCount),
            ToolCallCount = Volatile.Read(ref _toolCallCount),
        };

    private async Task<TurnRoute> RouteAsync(string text, IReadOnlyList<ContentBlock> prompt, CancellationToken cancellationToken)
    {
        if (_services.Router is not { } router)
        {
            // No fast model, nothing to choose: GPT-OSS answers; no tokens are counted, no signals looked for and no
            // decision logged. The response still says where the turn went, and why.
            return new TurnRoute(
                ModelRole.GptOss, new RouteMeta(ModelRoles.GptOssName, [PromptRouter.NoFastModel], PromptTokens: null, _services.Options.RouteThreshold));
        }

        TurnRoute route = await router.RouteAsync(Id, text, prompt, Settings.Model, Volatile.Read(ref _escalated), cancellationToken).ConfigureAwait(false);
        if (route.Model == ModelRole.GptOss)
        {
            // Once on GPT-OSS, the session stays there.
            Volatile.Write(ref _escalated, true);
        }

        return route;
    }

    // What the next prompt begins with is rendered before the first await, while the history is this turn's. A close
    // right after the answer (an agent told to exit) waits for the write.
    private static async Task SaveStateAsync(GptOssTurn turn, StoredSession stored)
    {
        if (await turn.SaveStateAsync(stored.StatePath).ConfigureAwait(false))
        {
            stored.StateSaved();
        }
    }

    // A stored session's saved state (none for a new one) is read in as soon as the context is made. A state that
    // cannot be restored costs a full prefill, not the session.
    private async Task<IInferenceSession> CreateInferenceAsync(IInferenceEngine engine, string? statePath, CancellationToken cancellationToken)
    {
        IInferenceSession inference = await engine.CreateSessionAsync(Id, cancellationToken).ConfigureAwait(false);
        if (statePath is null)
        {
            return inference;
        }

        try
        {
            await inference.TryRestoreStateAsync(statePath, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            // The model cannot load: the first prompt says so, as it would have.
            LogStateNotRestored(_services.Logger, Id, e.Message);
        }
        catch (OperationCanceledException)
        {
            await inference.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return inference;
    }

    private static JsonElement RouteMetaJson(RouteMeta route, PromptUsage? usage) =>
        JsonSerializer.SerializeToElement(new PromptMeta(new PromptGptOssMeta(route) { Usage = usage }), AgentJsonContext.Default.PromptMeta);

    private void Send(SessionUpdate update) => _services.Client.SessionUpdate(new SessionNotification(Id, update));

    public string NextMessageId() => $"msg_{Interlocked.Increment(ref _messageCount)}";

    public string NextToolCallId() => $"call_{Interlocked.Increment(ref _toolCallCount)}";

    /// <summary>Cancels every turn whose prompt arrived before message <paramref name="sequence"/>, running or waiting.</summary>
    public void Cancel(long sequence)
    {
        lock (_gate)
        {
            _cancelBefore = Math.Max(_cancelBefore, sequence);
            if (_turn is not null && _turnSequence < _cancelBefore)
            {
                _turn.Cancel();
            }
        }
    }

    /// <summary>
    /// Runs a turn for the prompt that arrived as message <paramref name="sequence"/>, after cancelling and waiting
    /// out any earlier one. The turn's token fires on <c>session/cancel</c>, a newer prompt, or
    /// <paramref name="requestCancellation"/> (<c>$/cancel_request</c> or the client leaving).
    /// </summary>
    private async Task<T> RunTurnAsync<T>(long sequence, Func<CancellationToken, Task<T>> turn, CancellationToken requestCancellation)
    {
        Cancel(sequence);
        await _turns.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(requestCancellation);
            lock (_gate)
            {
                _turn = cancellation;
                _turnSequence = sequence;
                if (sequence < _cancelBefore)
                {
                    cancellation.Cancel();
                }
            }

            try
            {
                return await turn(cancellation.Token).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _turn = null;
                }
            }
        }
        finally
        {
            _turns.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        // The engine state is freed only once no turn uses it: a cancelled turn ends within milliseconds. One that
        // does not is left its state, rather than have native memory freed under a running decode.
        Cancel(long.MaxValue);
        if (!await _turns.WaitAsync(s_turnEndTimeout).ConfigureAwait(false))
        {
            // MCP servers stop with their session all the same, and the journal's lock is let go.
            await Tools.DisposeAsync().ConfigureAwait(false);
            if (_stored is not null)
            {
                await _stored.DisposeAsync().ConfigureAwait(false);
            }

            return;
        }

        // A state being saved is written whole before the context goes: the next process restores it.
        await _stateSaved.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        // A failure to make the engine state was each prompt's to report; here there is only something to free or not.
        Task<IInferenceSession> inference;
        lock (_gate)
        {
            inference = _inference;
        }

        await ((Task)inference).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (inference.IsCompletedSuccessfully)
        {
            await inference.Result.DisposeAsync().ConfigureAwait(false);
        }

        if (_fast is { } fast)
        {
            await ((Task)fast).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (fast.IsCompletedSuccessfully)
            {
                await fast.Result.DisposeAsync().ConfigureAwait(false);
            }
        }

        await Tools.DisposeAsync().ConfigureAwait(false);
        if (_stored is not null)
        {
            await _stored.DisposeAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
        _turns.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the stored setting {ConfigId} is skipped: {Reason}")]
    private static partial void LogStoredSettingSkipped(ILogger logger, string sessionId, string configId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: its saved state could not be restored; the first prompt reads the conversation whole: {Reason}")]
    private static partial void LogStateNotRestored(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: turn ended: {StopReason}")]
    private static partial void LogTurnEnded(ILogger logger, string sessionId, StopReason stopReason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: mode = {Mode}")]
    private static partial void LogModeChanged(ILogger logger, string sessionId, string mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: {ConfigId} = {Value}")]
    private static partial void LogConfigChanged(ILogger logger, string sessionId, string configId, JsonElement value);
}
