namespace LlamaCpp.Tests;

/// <summary>
/// llama_chat_apply_template through the binding, on the pinned runtime: built-in names, detection from Jinja text,
/// results larger than the first buffer, non-ASCII text, and the errors a caller can act on.
/// </summary>
public sealed class LlamaChatTemplateTests
{
    private static readonly (string Role, string Content)[] s_conversation =
    [
        ("system", "You are terse."),
        ("user", "Hi"),
    ];

    public LlamaChatTemplateTests() => LlamaBackend.Initialize();

    [Fact]
    public void Chatml_by_name_renders_each_message_and_the_assistant_header()
    {
        string prompt = LlamaChatTemplate.Apply("chatml", s_conversation, addAssistant: true);

        Assert.Equal("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void Without_the_assistant_header_the_prompt_ends_with_the_last_message()
    {
        string prompt = LlamaChatTemplate.Apply("chatml", s_conversation, addAssistant: false);

        Assert.EndsWith("<|im_start|>user\nHi<|im_end|>\n", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void A_jinja_template_is_recognized_by_its_markers()
    {
        const string QwenStyle = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        const string Llama3Style = "{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>{% endfor %}";

        Assert.Equal(LlamaChatTemplate.Apply("chatml", s_conversation, true), LlamaChatTemplate.Apply(QwenStyle, s_conversation, true));
        Assert.Equal(LlamaChatTemplate.Apply("llama3", s_conversation, true), LlamaChatTemplate.Apply(Llama3Style, s_conversation, true));
        Assert.Equal(
            "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            LlamaChatTemplate.Apply(Llama3Style, s_conversation, true));
    }

    [Fact]
    public void The_gpt_oss_format_ends_history_answers_with_return_and_opens_the_answer_without_a_channel()
    {
        string prompt = LlamaChatTemplate.Apply("gpt-oss", [.. s_conversation, ("assistant", "Hello."), ("user", "Again")], addAssistant: true);

        Assert.Equal(
            "<|start|>system<|message|>You are terse.<|end|><|start|>user<|message|>Hi<|end|>"
            + "<|start|>assistant<|message|>Hello.<|return|><|start|>user<|message|>Again<|end|><|start|>assistant",
            prompt);
    }

    [Fact]
    public void A_result_larger_than_the_first_buffer_is_rendered_whole()
    {
        // The first buffer is twice the strings' bytes (about 2,800 here); 200 headers make the prompt 4,800 bytes.
        string prompt = LlamaChatTemplate.Apply("chatml", [.. Enumerable.Repeat(("user", "x"), 200)], addAssistant: true);

        Assert.Equal(string.Concat(Enumerable.Repeat("<|im_start|>user\nx<|im_end|>\n", 200)) + "<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void Long_content_is_rendered_whole()
    {
        string longAnswer = string.Concat(Enumerable.Repeat("0123456789", 10_000));

        string prompt = LlamaChatTemplate.Apply("chatml", [("system", ""), ("assistant", longAnswer)], addAssistant: false);

        Assert.Equal($"<|im_start|>system\n<|im_end|>\n<|im_start|>assistant\n{longAnswer}<|im_end|>\n", prompt);
    }

    [Fact]
    public void Non_ascii_text_survives_the_round_trip()
    {
        string prompt = LlamaChatTemplate.Apply("chatml", [("user", "Grüße 🎉 世界")], addAssistant: false);

        Assert.Equal("<|im_start|>user\nGrüße 🎉 世界<|im_end|>\n", prompt);
    }

    [Fact]
    public void An_unknown_template_is_an_error_that_names_it_and_says_only_built_in_templates_are_supported()
    {
        const string Custom = "{% for m in messages %}### {{ m.role }}: {{ m.content }}\n{% endfor %}### assistant:";

        var byName = Assert.Throws<LlamaException>(() => LlamaChatTemplate.Apply("no-such-template", s_conversation, true));
        var byText = Assert.Throws<LlamaException>(() => LlamaChatTemplate.Apply(Custom + new string(' ', 100), s_conversation, true));

        Assert.Contains("\"no-such-template\"", byName.Message, StringComparison.Ordinal);
        Assert.Contains("only llama.cpp's built-in templates are supported", byName.Message, StringComparison.Ordinal);
        Assert.Contains("chatml", byName.Message, StringComparison.Ordinal);
        Assert.Contains("\"{% for m in messages %}### {{ m.role }}: {{ m.content }} {% ...\"", byText.Message, StringComparison.Ordinal);
        Assert.Contains($"({Custom.Length + 100} characters)", byText.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_nul_character_is_refused_rather_than_cutting_the_message_short()
    {
        Assert.Throws<ArgumentException>(() => LlamaChatTemplate.Apply("chatml", [("user", "before\0after")], true));
        Assert.Throws<ArgumentException>(() => LlamaChatTemplate.Apply("chat\0ml", s_conversation, true));
    }

    [Fact]
    public void The_built_in_names_are_those_of_the_pinned_release_and_each_one_applies()
    {
        IReadOnlyList<string> names = LlamaChatTemplate.BuiltInNames;

        Assert.Contains("chatml", names);
        Assert.Contains("llama3", names);
        Assert.Contains("gpt-oss", names);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.All(names, name => Assert.NotEmpty(LlamaChatTemplate.Apply(name, s_conversation, addAssistant: true)));
    }
}
