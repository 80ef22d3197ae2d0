using System.Threading.Channels;
using Acp.GptOss.Dev;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Inference;

/// <summary>A model's life on the real runtime: load, status, telemetry stages, unload, retry, idle unload.</summary>
public sealed class ModelSlotTests
{
    private static (ModelSlot Slot, Channel<TelemetryEvent> Events) Create(string path, TimeSpan? idle = null, TimeProvider? time = null)
    {
        var telemetry = new Telemetry(NullLogger.Instance);
        var events = Channel.CreateUnbounded<TelemetryEvent>();
        telemetry.Subscribe(e => events.Writer.TryWrite(e));
        var slot = new ModelSlot(
            new ModelSlotOptions { Role = ModelRole.GptOss, Path = path, RequiredArchitecture = "gpt-oss", ContextSize = 2048, IdleUnload = idle },
            telemetry, NullLogger.Instance, time);
        return (slot, events);
    }

    private static async Task<string> NextStageAsync(Channel<TelemetryEvent> events) =>
        ((LoadStageEvent)await events.Reader.ReadAsync().AsTask().WaitAsync(AgentHarness.Timeout)).Stage;

    [ModelFact]
    public async Task A_model_is_not_loaded_until_asked_then_reports_each_stage_and_unloads()
    {
        string path = TestModels.Chain("<|channel|>final<|message|>Hi<|return|>");
        (ModelSlot slot, Channel<TelemetryEvent> events) = Create(path);
        await using (slot)
        {
            ModelStatus before = slot.GetStatus();
            LoadedModel loaded = await slot.LoadAsync(CancellationToken.None);
            ModelStatus ready = slot.GetStatus();
            await slot.UnloadAsync();
            ModelStatus after = slot.GetStatus();

            Assert.Equal(ModelState.NotLoaded, before.State);
            Assert.Equal(new FileInfo(path).Length, before.SizeBytes);
            Assert.True(before.RamNeededBytes > before.SizeBytes);
            Assert.Null(before.ContextSize);
            Assert.Equal(ModelState.Ready, ready.State);
            Assert.Equal(1, ready.LoadProgress);
            Assert.Equal(2048, ready.ContextSize);
            Assert.Equal(loaded.ContextSize, ready.ContextSize);
            Assert.NotNull(ready.Description);
            Assert.Equal(ModelState.NotLoaded, after.State);
            Assert.Equal(
                [LoadStageEvent.Open, LoadStageEvent.Preflight, LoadStageEvent.WeightsMapped, LoadStageEvent.Unloaded],
                [await NextStageAsync(events), await NextStageAsync(events), await NextStageAsync(events), await NextStageAsync(events)]);
        }
    }

    [ModelFact]
    public async Task An_unload_waits_for_the_generation_that_holds_the_model()
    {
        (ModelSlot slot, _) = Create(TestModels.Chain("<|channel|>final<|message|>Hi<|return|>"));
        await using (slot)
        {
            ModelSlot.Lease lease = await slot.AcquireAsync(CancellationToken.None);
            Task unload = slot.UnloadAsync();
            bool doneWhileHeld = unload.IsCompleted;
            ModelState stateWhileHeld = slot.State;
            lease.Dispose();
            await unload.WaitAsync(AgentHarness.Timeout);

            Assert.False(doneWhileHeld);
            Assert.Equal(ModelState.Ready, stateWhileHeld);
            Assert.Equal(ModelState.NotLoaded, slot.State);
        }
    }

    [ModelFact]
    public async Task A_failed_load_is_an_error_state_and_the_next_demand_tries_again()
    {
        string path = Path.Combine(Path.GetTempPath(), $"acp-gptoss-slot-{Guid.NewGuid():N}.gguf");
        File.WriteAllText(path, "This file is not a model, and it is long enough to say so clearly.");
        try
        {
            (ModelSlot slot, _) = Create(path);
            await using (slot)
            {
                InferenceException failure = await Assert.ThrowsAsync<InferenceException>(() => slot.LoadAsync(CancellationToken.None));
                ModelStatus failed = slot.GetStatus();
                File.Copy(TestModels.Chain("<|channel|>final<|message|>Hi<|return|>"), path, overwrite: true);
                await slot.LoadAsync(CancellationToken.None);

                Assert.Equal(ModelState.Error, failed.State);
                Assert.Equal(failure.Message, failed.Error);
                Assert.Contains("not a GGUF file", failed.Error, StringComparison.Ordinal);
                Assert.Contains(path, failed.Error, StringComparison.Ordinal);
                Assert.Equal(ModelState.Ready, slot.State);
                Assert.Null(slot.GetStatus().Error);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [ModelFact]
    public async Task An_idle_model_unloads_by_itself()
    {
        var time = new ManualTime();
        (ModelSlot slot, Channel<TelemetryEvent> events) = Create(TestModels.Chain("<|channel|>final<|message|>Hi<|return|>"), idle: TimeSpan.FromMinutes(5), time);
        await using (slot)
        {
            await slot.LoadAsync(CancellationToken.None);
            time.Advance(TimeSpan.FromMinutes(5));
            string stage;
            do
            {
                stage = await NextStageAsync(events);
            }
            while (stage != LoadStageEvent.Unloaded);

            Assert.Equal(ModelState.NotLoaded, slot.State);
        }
    }

    [ModelFact]
    public async Task A_session_answers_the_same_after_its_model_was_unloaded()
    {
        const string Completion = "<|channel|>final<|message|>Hello world<|return|>";
        string path = TestModels.Chain(Completion);
        var telemetry = new Telemetry(NullLogger.Instance);
        await using LlamaInferenceEngine engine = LlamaInferenceEngine.Start(
            new LlamaEngineOptions { ModelPath = path, ContextSize = 2048, Threads = 2, Sampling = new LlamaCpp.LlamaSamplingOptions { Temperature = 0 } },
            telemetry, NullLoggerFactory.Instance);
        await using IInferenceSession session = await engine.CreateSessionAsync("s1", CancellationToken.None);
        var encoding = new Harmony.Rendering.HarmonyEncoding(session.Tokenizer);
        int[] prompt = encoding.RenderForCompletion(new Harmony.Conversations.HarmonyConversation(
            new Harmony.Conversations.HarmonySystemContent(), null, [Harmony.Conversations.HarmonyMessage.User("Hi")]));
        var options = new GenerationOptions(32, encoding.SamplingStops.ToArray());

        int[] before = await session.GenerateAsync(prompt, options, CancellationToken.None).ToArrayAsync();
        await engine.Models[0].UnloadAsync();
        ModelState unloaded = engine.Models[0].State;
        int[] after = await session.GenerateAsync(prompt, options, CancellationToken.None).ToArrayAsync();

        Assert.Equal(ModelState.NotLoaded, unloaded);
        Assert.Equal(ModelState.Ready, engine.Models[0].State);
        Assert.Equal(before, after);
        // The chain starts from the prompt's last token, assistant; the model answers the rest.
        Assert.Equal(GptOssModelGenerator.ChainTokens(TestModels.VocabularyModel.Vocabulary, Completion).Skip(1), before);
    }

    /// <summary>A clock that moves only when told; each move fires every timer once.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly Lock _gate = new();
        private readonly List<ManualTimer> _timers = [];
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp()
        {
            lock (_gate)
            {
                return _now;
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(this, () => callback(state));
            lock (_gate)
            {
                _timers.Add(timer);
            }

            return timer;
        }

        public void Advance(TimeSpan by)
        {
            ManualTimer[] timers;
            lock (_gate)
            {
                _now += by.Ticks;
                timers = [.. _timers];
            }

            foreach (ManualTimer timer in timers)
            {
                timer.Fire();
            }
        }

        private void Remove(ManualTimer timer)
        {
            lock (_gate)
            {
                _timers.Remove(timer);
            }
        }

        private sealed class ManualTimer(ManualTime time, Action tick) : ITimer
        {
            public void Fire() => tick();

            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose() => time.Remove(this);

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
